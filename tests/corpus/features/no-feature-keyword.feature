Scenario: a scenario with no Feature above it
  Given a healthy XGlobalDatabase
