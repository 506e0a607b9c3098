@ci
Feature: Failover works in both directions
  Whichever cloud serves, losing it moves traffic to the other one within the SLO.

  Scenario Outline: <experiment> against <from> moves traffic to <to>
    Given the blueprint platform serving from <from>
    And the target is healthy
    When the experiment "<experiment>" runs against <from>
    Then the failover passes
    And <from> managed resources are Synced=False within 90 seconds
    And <to> managed resources are Synced and Ready within 90 seconds
    And DNS answers <to> on every nameserver within 90 seconds
    And everything the fault changed is rolled back

    @aws
    Examples: AWS to Azure
      | experiment                 | from | to    |
      | delete-providerconfig.json | aws  | azure |
      | revoke-credentials.json    | aws  | azure |

    @azure
    Examples: Azure to AWS
      | experiment                 | from  | to  |
      | delete-providerconfig.json | azure | aws |
      | block-provider-api.json    | azure | aws |
      | revoke-credentials.json    | azure | aws |
