Feature: one
  Scenario: a
    Given x
Feature: two
  Scenario: b
    Given y
