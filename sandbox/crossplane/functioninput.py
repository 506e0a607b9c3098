"""The failover function's settings, published as a real composition function takes its own: the ``input`` of its
step in the Composition's pipeline (as function-patch-and-transform's ``Resources`` input), so a client reads the
detection threshold where it would on a real platform. The simulated function runs with the same timings.
"""

from __future__ import annotations

from typing import Any

from .timings import Timings, go_duration

API_VERSION, KIND = "failover.fn.xpchaos.io/v1beta1", "Input"
STEP = "failover"


def input_for(timings: Timings) -> dict[str, Any]:
    """The failover step's input: how long the primary must be unhealthy before the failover starts, how long a
    promotion may take, and how long the old primary must be healthy before traffic returns."""
    return {"apiVersion": API_VERSION, "kind": KIND,
            "detectionThreshold": go_duration(timings.detection),
            "promotionTimeout": go_duration(timings.promotion),
            "failbackAfter": go_duration(timings.failback)}


def attach(composition: dict[str, Any], function_input: dict[str, Any]) -> dict[str, Any]:
    """``composition`` with ``function_input`` on its failover step (a stock Composition has none, and an empty
    input is none: unchanged)."""
    if not function_input:
        return composition
    for step in composition["spec"].get("pipeline") or []:
        if step.get("step") == STEP:
            step["input"] = dict(function_input)
    return composition
