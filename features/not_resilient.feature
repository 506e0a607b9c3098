@ci
Feature: Without failover logic the harness says plainly that the platform is not resilient
  Stock Crossplane has no failover: a lost provider only shows as Synced=False on its managed resources, the
  XGlobalDatabase stays Ready and DNS keeps answering AWS. The verdict must name the missing step and how late.

  Background:
    Given the stock platform serving from aws
    And the target is healthy

  @aws
  Scenario: Revoking the AWS credentials on stock Crossplane
    When the experiment "revoke-credentials.json" runs against aws with an SLO of 10 seconds
    Then the verdict is "not resilient"
    And the run is not resilient at step "xr_recovers"
    And the verdict says "never left Ready"
    And aws managed resources are Synced=False within 10 seconds
    And the XGlobalDatabase never leaves Ready
    And everything the fault changed is rolled back

  @aws
  Scenario: Cutting AWS off its cloud API on stock Crossplane
    When the experiment "block-provider-api.json" runs against aws with an SLO of 10 seconds
    Then the run is not resilient at step "xr_recovers"
    And the verdict says "never left Ready"
    And everything the fault changed is rolled back
