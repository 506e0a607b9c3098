@slow
Feature: The gate's verdict per DNS wiring, fault and platform profile
  How DNS moves decides what losing AWS does to it. The failover function writing the zone itself (function),
  ExternalDNS with its own credentials (external-dns) and Azure's Traffic Manager (traffic-manager) move it
  whatever AWS's credentials; a Route53 Record reconciled through AWS's own ProviderConfig (provider) cannot move
  away from AWS once that ProviderConfig fails: the circular dependency, not resilient at dns_secondary. Route53
  health-check failover (route53-failover) keeps the primary while its endpoint answers, whatever Crossplane does,
  and moves when the primary's health check fails. Stock Crossplane has no failover logic: the XR never recovers.
  The primary's health check failing moves DNS only where a health check decides (route53-failover,
  traffic-manager); elsewhere it changes nothing and the fault is not applied.
  Every row runs with a 10 s SLO (the sandbox's fast timings fail over in seconds), so none waits out 90 s.

  Scenario Outline: <fault> on the <profile> platform with DNS wired by <mode> reads <verdict> at <step>
    Given the <profile> platform serving from aws with DNS wired by <mode>
    And the target is healthy
    When the experiment "<fault>" runs against aws with an SLO of 10 seconds
    Then the verdict at step "<step>" is "<verdict>"
    And everything the fault changed is rolled back

    @aws @ci
    Examples: Losing AWS, the quick rows
      | mode             | fault                      | profile   | verdict       | step          |
      | provider         | revoke-credentials.json    | blueprint | not resilient | dns_secondary |
      | external-dns     | revoke-credentials.json    | blueprint | passed        | -             |
      | route53-failover | delete-providerconfig.json | blueprint | not resilient | dns_secondary |

    @ci
    Examples: The primary's health check fails, the quick rows
      | mode             | fault                      | profile   | verdict           | step |
      | route53-failover | fail-health-check.json     | stock     | passed            | -    |
      | traffic-manager  | fail-health-check.json     | blueprint | passed            | -    |
      | function         | fail-health-check.json     | blueprint | fault not applied | -    |

    @aws
    Examples: Losing AWS
      | mode             | fault                      | profile   | verdict       | step          |
      | function         | delete-providerconfig.json | blueprint | passed        | -             |
      | function         | block-provider-api.json    | blueprint | passed        | -             |
      | function         | revoke-credentials.json    | blueprint | passed        | -             |
      | function         | delete-providerconfig.json | stock     | not resilient | xr_recovers   |
      | function         | block-provider-api.json    | stock     | not resilient | xr_recovers   |
      | function         | revoke-credentials.json    | stock     | not resilient | xr_recovers   |
      | provider         | delete-providerconfig.json | blueprint | not resilient | dns_secondary |
      | provider         | block-provider-api.json    | blueprint | not resilient | dns_secondary |
      | provider         | delete-providerconfig.json | stock     | not resilient | xr_recovers   |
      | provider         | block-provider-api.json    | stock     | not resilient | xr_recovers   |
      | provider         | revoke-credentials.json    | stock     | not resilient | xr_recovers   |
      | route53-failover | block-provider-api.json    | blueprint | not resilient | dns_secondary |
      | route53-failover | revoke-credentials.json    | blueprint | not resilient | dns_secondary |
      | route53-failover | delete-providerconfig.json | stock     | not resilient | xr_recovers   |
      | route53-failover | block-provider-api.json    | stock     | not resilient | xr_recovers   |
      | route53-failover | revoke-credentials.json    | stock     | not resilient | xr_recovers   |
      | external-dns     | delete-providerconfig.json | blueprint | passed        | -             |
      | external-dns     | block-provider-api.json    | blueprint | passed        | -             |
      | external-dns     | delete-providerconfig.json | stock     | not resilient | xr_recovers   |
      | external-dns     | block-provider-api.json    | stock     | not resilient | xr_recovers   |
      | external-dns     | revoke-credentials.json    | stock     | not resilient | xr_recovers   |
      | traffic-manager  | delete-providerconfig.json | blueprint | passed        | -             |
      | traffic-manager  | block-provider-api.json    | blueprint | passed        | -             |
      | traffic-manager  | revoke-credentials.json    | blueprint | passed        | -             |
      | traffic-manager  | delete-providerconfig.json | stock     | not resilient | xr_recovers   |
      | traffic-manager  | block-provider-api.json    | stock     | not resilient | xr_recovers   |
      | traffic-manager  | revoke-credentials.json    | stock     | not resilient | xr_recovers   |

    Examples: The primary's health check fails
      | mode             | fault                      | profile   | verdict           | step |
      | function         | fail-health-check.json     | stock     | fault not applied | -    |
      | provider         | fail-health-check.json     | blueprint | fault not applied | -    |
      | provider         | fail-health-check.json     | stock     | fault not applied | -    |
      | route53-failover | fail-health-check.json     | blueprint | passed            | -    |
      | external-dns     | fail-health-check.json     | blueprint | fault not applied | -    |
      | external-dns     | fail-health-check.json     | stock     | fault not applied | -    |
      | traffic-manager  | fail-health-check.json     | stock     | passed            | -    |
