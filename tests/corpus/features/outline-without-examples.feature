Feature: an outline with no examples
  Scenario Outline: losing <cloud>
    Given a healthy XGlobalDatabase on <cloud>
