"""The simulated platforms of ``--platform``: shapes, faults and ground truth, through kubectl and the client."""
