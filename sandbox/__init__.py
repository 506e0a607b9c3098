"""The sandbox: a simulated Crossplane management cluster on 127.0.0.1.

Started as its own process (``python -m xpchaos.sandbox serve`` or ``xpchaos sandbox up``) and reached only through its
kubeconfig and nameserver address, exactly like a real cluster. The harness never imports this package.
"""
