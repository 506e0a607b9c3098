Feature: steps out of place
  Given a step before any scenario
  Scenario: late
    Then nothing
