Feature: an unknown keyword
  Scenario: bogus
    Perhaps the platform fails over
