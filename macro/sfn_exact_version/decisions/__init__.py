"""Decisions for ``preflight`` and ``prune``, as pure functions over the plain data of ``live.model``.

No AWS and no clock here: ``live/`` reads an account into an ``AccountView`` (with the time it was read),
these modules decide what is at risk (``preflight``) and what may go (``prune``), and the CLI prints it.

- ``calls``: the Lambda versions a definition may call
- ``iam``: whether IAM statements allow an action on a resource
- ``preflight``: executions a new template would break
- ``prune``: the keep set and the delete set
"""
