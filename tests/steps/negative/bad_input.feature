Feature: Bad input fails before any fault, saying what to fix

  Background:
    Given the blueprint platform serving from aws
    And the target is healthy

  Scenario: A misspelt step
    When the experimnt "revoke-credentials.json" runs against aws

  Scenario: A missing experiment file
    When the experiment "no-such-experiment.json" runs against aws

  Scenario: A provider the target does not have
    When the experiment "revoke-credentials.json" runs against gcp
