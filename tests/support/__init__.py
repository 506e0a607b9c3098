"""What the project's own tests share, as plain modules (a conftest.py holds fixtures only, and nothing imports one):

- ``paths``: where the repository's files are;
- ``waiting``: ``wait_for``, the one way to wait on a condition with a deadline;
- ``sandboxes``: starting and stopping sandbox processes, and the ``Sandbox`` a test reaches them through;
- ``targets``: writing target files (the minimal one, edited copies of a sandbox's);
- ``commands``: the ``xpchaos`` and ``chaos`` command lines, each in a process of its own;
- ``runs``: an experiment's run as a user makes it (private HOME, undo log, journal), and what its journal says;
- ``kubectl``: the pinned kubectl of the dev extras, and the one on PATH when it is another generation;
- ``network``: a free port, and a TCP forwarder that can cut its connections;
- ``bind9``: the BIND9 tools and a real ``named`` serving the sandbox's zone;
- ``upstream/``: upstream example manifests (the CRDs they use are the sandbox's, in sandbox/crossplane/crds/).
"""
