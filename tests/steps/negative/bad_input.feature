Feature: Bad input fails before any fault, saying what to fix

  Background:
    Given the blueprint platform serving from aws
    And the target is healthy
    And the XGlobalDatabase "production-db" is Ready
    And every XGlobalDatabase is Ready

  Scenario: A misspelt step
    When the experimnt "revoke-credentials.json" runs against aws

  Scenario: A missing experiment file
    When the experiment "no-such-experiment.json" runs against aws

  Scenario: A provider the target does not have
    When the experiment "revoke-credentials.json" runs against gcp

  Scenario: A composite the target does not watch
    Given the XGlobalDatabase "orders-db" is Ready

  Scenario: A kind of composite the target does not watch
    Given every XPostgresInstance is Ready
