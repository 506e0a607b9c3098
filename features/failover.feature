@ci
Feature: Losing AWS moves the global database to Azure within the SLO
  Each XGlobalDatabase (the seed platform's one is "production-db") is served from AWS (Aurora) and fails over
  to Azure (SQL); DNS follows. Losing AWS - its ProviderConfig, its cloud API or its credentials - must move
  traffic to Azure within 90 seconds for every XGlobalDatabase the loss reaches, and every change the fault
  makes must be undone afterwards.

  Background:
    Given the blueprint platform serving from aws
    And every XGlobalDatabase is Ready
    And DNS answers the primary on every nameserver

  @aws
  Scenario: Deleting the AWS ProviderConfig fails over to Azure
    When the experiment "delete-providerconfig.json" runs against aws
    Then the failover passes
    And these signals follow the fault in order:
      | signal                                       | within |
      | aws managed resources are Synced=False       | 90s    |
      | azure managed resources are Synced and Ready | 90s    |
      | the XGlobalDatabase is Ready=False           | 90s    |
      | DNS answers azure                            | 90s    |
    And the XGlobalDatabase goes Ready True → False → True within 90 seconds
    And everything the fault changed is rolled back

  @aws
  Scenario: Cutting AWS off its cloud API fails over to Azure
    When the experiment "block-provider-api.json" runs against aws
    Then the failover passes
    And aws managed resources are Synced=False within 90 seconds
    And the XGlobalDatabase goes Ready True → False → True within 90 seconds
    And DNS answers azure on every nameserver within 90 seconds
    And everything the fault changed is rolled back

  @aws
  Scenario: Revoking the AWS credentials fails over to Azure
    When the experiment "revoke-credentials.json" runs against aws
    Then the failover passes
    And aws reports ReconcileError and azure is Syncing within 90 seconds
    And the XGlobalDatabase goes Ready True → False → True within 90 seconds
    And DNS answers azure on every nameserver within 90 seconds
    And everything the fault changed is rolled back

  @aws
  Scenario: Deleting an in-use ProviderConfig is blocked, so nothing fails over
    Real Crossplane keeps a ProviderConfig that managed resources still use: the deletion waits on the
    finalizer in-use.crossplane.io. That is a finding in itself, not a failover.

    When the ProviderConfig of aws is deleted without force
    Then the verdict is "fault not applied"
    And the ProviderConfig of aws is protected by "in-use.crossplane.io"
    And the XGlobalDatabase never leaves Ready
    And everything the fault changed is rolled back
