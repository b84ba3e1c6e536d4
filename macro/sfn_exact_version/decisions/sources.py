"""What may still call Lambda, and which function versions each may reach: the common ground of
``preflight`` and ``prune``.

A *source* is something that runs a definition with a role: an execution that may still run (RUNNING,
PENDING_REDRIVE, stopped and redrivable, a Distributed Map child of one), a state machine's current
definition (the next execution starts on it), or a state machine version an alias routes to (at any
weight: the next execution through the alias may start on it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sfn_exact_version.decisions.calls import CallSite, Reach, UnreadableDefinitionError, call_sites, reach
from sfn_exact_version.live.model import AccountView, Execution, LambdaFunction


@dataclass(frozen=True)
class Source:
    label: str  # what it is, for people: "execution order-17 (RUNNING, through alias live)"
    definition_key: str | None
    role_arn: str
    execution: Execution | None = None
    routed_by: tuple[str, ...] = ()  # a state machine version: the ARNs of the aliases that route to it
    version_arn: str = ""


@dataclass
class Reached:
    """The versions a source may call (or ``unreadable``: its definition could not be read, so every
    version in scope is counted), and notes on assumptions made."""

    source: Source
    reaches: list[Reach] = field(default_factory=list)
    sites: list[CallSite] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unreadable: str = ""


def _minutes(execution: Execution) -> str:
    extra = []
    if execution.alias_arn:
        extra.append(f"through alias {execution.alias_arn.rsplit(':', 1)[-1]}")
    elif execution.version_arn:
        extra.append(f"on version {execution.version_arn.rsplit(':', 1)[-1]}")
    if execution.parent:
        extra.append(f"Map child of {execution.parent.rsplit(':', 1)[-1]}")
    if execution.redrive_status and execution.status not in ("RUNNING", "PENDING_REDRIVE"):
        extra.append(f"redrive {execution.redrive_status}")
    return f" ({', '.join([execution.status, *extra])})"


def execution_label(execution: Execution) -> str:
    return f"execution {execution.name}{_minutes(execution)}"


def sources(view: AccountView) -> list[Source]:
    """Every source of the view, executions first."""
    found = [Source(execution_label(e), e.definition_key, e.role_arn, e) for e in view.executions]
    for machine in view.state_machines:
        if machine.definition_key is not None:
            found.append(
                Source(f"current definition of {machine.name}", machine.definition_key, machine.role_arn)
            )
        routed: dict[str, list[str]] = {}
        routing_aliases: dict[str, list[str]] = {}
        for alias in machine.aliases:
            for version_arn, weight in alias.routing.items():
                routed.setdefault(version_arn, []).append(f"alias {alias.name} {weight:g}%")
                routing_aliases.setdefault(version_arn, []).append(alias.arn)
        for version in machine.versions:
            if version.arn in routed:
                definition = view.definitions.get(version.definition_key or "")
                role = definition.role_arn if definition else machine.role_arn
                label = (
                    f"{machine.name} version {version.arn.rsplit(':', 1)[-1]} "
                    f"(routed by {', '.join(routed[version.arn])})"
                )
                aliases = tuple(routing_aliases[version.arn])
                found.append(Source(label, version.definition_key, role, None, aliases, version.arn))
    return found


class Reader:
    """Reads each distinct (definition, role) once: thousands of executions usually run a handful of
    revisions."""

    def __init__(self, view: AccountView, functions: dict[str, LambdaFunction]) -> None:
        self.view = view
        self.functions = functions
        self._sites: dict[str, list[CallSite] | str] = {}
        self._reached: dict[tuple[str, str], Reached] = {}

    def sites(self, key: str | None) -> list[CallSite] | str:
        """The call sites of a definition, or why it cannot be read."""
        if key is None or key not in self.view.definitions:
            return "its definition could not be read"
        if key not in self._sites:
            view = self.view
            try:
                self._sites[key] = call_sites(
                    view.definitions[key].text,
                    region=view.region,
                    account_id=view.account_id,
                    partition=view.partition,
                )
            except UnreadableDefinitionError as error:
                self._sites[key] = str(error)
        return self._sites[key]

    def reached(self, source: Source) -> Reached:
        """What ``source`` may call among the functions in scope."""
        cache_key = (source.definition_key or "", source.role_arn)
        cached = self._reached.get(cache_key)
        if cached is None:
            cached = Reached(source)
            sites = self.sites(source.definition_key)
            if isinstance(sites, str):
                cached.unreadable = sites
            else:
                cached.sites = sites
                for site in sites:
                    # A Task with Credentials calls Lambda as the role they name (unknown when chosen
                    # at run time: then every function in scope counts for a dynamic call).
                    role = self.view.roles.get(site.role_arn or source.role_arn)
                    found, note = reach(site, self.functions, role)
                    cached.reaches.extend(found)
                    if note:
                        cached.notes.append(note)
            self._reached[cache_key] = cached
        return Reached(source, cached.reaches, cached.sites, cached.notes, cached.unreadable)
