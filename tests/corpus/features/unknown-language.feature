# language: xx-klingon
Feature: unknown language
  Scenario: a
    Given x
