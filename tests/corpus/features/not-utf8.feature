Feature: café
  Scenario: ÿþ
    Given x
