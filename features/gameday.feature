@gameday @slow
Feature: Failover at real speed, as on a game day
  The blueprint platform with realistic timings (10 s provider poll, 20 s detection, 10 s promotion, 30 s TTL)
  must still move traffic within the 90-second SLO.

  @aws
  Scenario: Revoking the AWS credentials at real speed
    Given the blueprint platform serving from aws at real speed
    And the target is healthy
    When the experiment "revoke-credentials.json" runs against aws
    Then the failover passes
    And DNS answers azure on every nameserver within 90 seconds
    And everything the fault changed is rolled back
