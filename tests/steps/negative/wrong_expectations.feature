Feature: Steps that must fail when what they assert is false

  Background:
    Given the blueprint platform serving from aws
    And the target is healthy

  Scenario: DNS is expected on the side that was lost
    When the experiment "revoke-credentials.json" runs against aws
    Then DNS answers aws on every nameserver within 90 seconds

  Scenario: The composite is expected to stay Ready on a platform that fails over
    When the experiment "revoke-credentials.json" runs against aws
    Then the XGlobalDatabase never leaves Ready

  Scenario: A passing run is expected to be not resilient
    When the experiment "revoke-credentials.json" runs against aws
    Then the verdict is "not resilient"

  Scenario: Signals are expected in the wrong order
    When the experiment "revoke-credentials.json" runs against aws
    Then these signals follow the fault in order:
      | signal                                 | within |
      | DNS answers azure                      | 90s    |
      | aws managed resources are Synced=False | 90s    |

  Scenario: A deadline shorter than the failover takes
    When the experiment "revoke-credentials.json" runs against aws
    Then DNS answers azure on every nameserver within 0.2 seconds

  Scenario: The lost side and the one taking over are swapped
    When the experiment "revoke-credentials.json" runs against aws
    Then azure reports ReconcileError and aws is Syncing within 90 seconds
