@ci @aws
Feature: Failing the primary's health check moves DNS to Azure within the SLO
  Where DNS is routed by health - Route53 failover routing with a health check, or an Azure Traffic Manager
  profile with priority routing - teams test the failover without taking anything down: the primary's health
  check is made to fail through its managed resource (Route53 invertHealthcheck, or the primary's Traffic Manager
  endpoint disabled). No managed resource fails, so only DNS moves: every nameserver must answer Azure within 90
  seconds, and every change the fault makes must be undone afterwards.

  Scenario: Failing the AWS health check of Route53 failover routing moves DNS to Azure
    Given the blueprint platform serving from aws with DNS wired by route53-failover
    And every XGlobalDatabase is Ready
    And DNS answers the primary on every nameserver
    When the experiment "fail-health-check.json" runs against aws
    Then the failover passes
    And DNS answers azure on every nameserver within 90 seconds
    And everything the fault changed is rolled back

  Scenario: Disabling the AWS endpoint of a Traffic Manager profile moves DNS to Azure
    Given the blueprint platform serving from aws with DNS wired by traffic-manager
    And every XGlobalDatabase is Ready
    And DNS answers the primary on every nameserver
    When the experiment "fail-health-check.json" runs against aws
    Then the failover passes
    And DNS answers azure on every nameserver within 90 seconds
    And everything the fault changed is rolled back
