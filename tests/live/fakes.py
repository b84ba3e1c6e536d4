"""Offline AWS for the live/ tests: moto where it is faithful (Lambda versions, aliases, tags, IAM), small
fakes with the documented response shapes where it is not (Step Functions versions, aliases, executions,
DescribeStateMachineForExecution, Map runs; CloudFormation's processed template; Lambda function URLs and
provisioned concurrency, which moto 5.2.5 does not implement).

Each fake pages its lists (``page_size``) with the API's own token names, and counts its calls.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from datetime import datetime
from typing import Any

import boto3

REGION = "eu-west-1"
ACCOUNT = "123456789012"


def zipped(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", text)
    return buffer.getvalue()


class Fake:
    """A client of one service: methods answer from ``self`` data; lists are paged."""

    page_size = 2
    token = "nextToken"

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.errors: dict[str, list[Exception]] = {}

    def can_paginate(self, name: str) -> bool:
        return False

    def _enter(self, name: str) -> None:
        self.calls[name] += 1
        queued = self.errors.get(name)
        if queued:
            raise queued.pop(0)

    def _page(self, key: str, items: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        start = int(kwargs.get(self.token) or 0)
        page = {key: items[start : start + self.page_size]}
        if start + self.page_size < len(items):
            page[self.token] = str(start + self.page_size)
        return page


def client_error(code: str, operation: str, message: str = "") -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": message or code}}, operation)


class FakeCloudFormation(Fake):
    token = "NextToken"

    def __init__(self, stack: str, resources: list[tuple[str, str, str]], template: dict[str, Any]) -> None:
        super().__init__()
        self.stack = stack
        self.resources = resources
        self.template = template
        self.status = "UPDATE_COMPLETE"

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        self._enter("describe_stacks")
        if StackName != self.stack:
            raise client_error(
                "ValidationError", "DescribeStacks", f"Stack with id {StackName} does not exist"
            )
        stack_id = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{self.stack}/0000"
        return {
            "Stacks": [
                {
                    "StackId": stack_id,
                    "StackName": self.stack,
                    "StackStatus": self.status,
                    "Parameters": [{"ParameterKey": "Stage", "ParameterValue": "prod"}],
                }
            ]
        }

    def list_stack_resources(self, StackName: str, **kwargs: Any) -> dict[str, Any]:
        self._enter("list_stack_resources")
        items = [
            {"LogicalResourceId": logical, "PhysicalResourceId": physical, "ResourceType": type_}
            for logical, physical, type_ in self.resources
        ]
        return self._page("StackResourceSummaries", items, kwargs)

    def get_template(self, StackName: str, TemplateStage: str) -> dict[str, Any]:
        self._enter("get_template")
        assert TemplateStage == "Processed"
        return {"TemplateBody": json.dumps(self.template)}


class FakeStepFunctions(Fake):
    """State machines, versions, aliases, executions and Map runs, as the API documents them."""

    def __init__(self) -> None:
        super().__init__()
        self.machines: dict[str, dict[str, Any]] = {}  # ARN (or version ARN) -> DescribeStateMachine
        self.versions: dict[str, list[dict[str, Any]]] = {}
        self.aliases: dict[str, list[dict[str, Any]]] = {}  # machine -> DescribeStateMachineAlias results
        self.executions: list[dict[str, Any]] = []  # ListExecutions items + internal keys
        self.map_runs: dict[str, list[str]] = {}  # parent execution -> map run ARNs
        self.deleted: list[str] = []

    def add_machine(
        self, name: str, definition: str, role: str, revision: str, type_: str = "STANDARD"
    ) -> str:
        arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
        self.machines[arn] = {
            "stateMachineArn": arn,
            "name": name,
            "definition": definition,
            "roleArn": role,
            "type": type_,
            "revisionId": revision,
        }
        self.versions[arn] = []
        self.aliases[arn] = []
        return arn

    def add_version(
        self, machine: str, number: int, definition: str, revision: str, created: datetime
    ) -> str:
        arn = f"{machine}:{number}"
        self.machines[arn] = {**self.machines[machine], "stateMachineArn": arn, "definition": definition}
        self.machines[arn]["revisionId"] = revision
        self.versions[machine].insert(0, {"stateMachineVersionArn": arn, "creationDate": created})
        return arn

    def add_alias(self, machine: str, name: str, routing: dict[str, int]) -> str:
        arn = f"{machine}:{name}"
        routes = [{"stateMachineVersionArn": k, "weight": v} for k, v in routing.items()]
        self.aliases[machine].append(
            {"stateMachineAliasArn": arn, "name": name, "routingConfiguration": routes}
        )
        return arn

    def add_execution(self, machine: str, name: str, status: str, start: datetime, **more: Any) -> str:
        arn = machine.replace(":stateMachine:", ":execution:") + ":" + name
        item = {
            "executionArn": arn,
            "stateMachineArn": machine,
            "name": name,
            "status": status,
            "startDate": start,
        }
        item.update(more)
        self.executions.append(item)
        return arn

    # --- the API
    def describe_state_machine(self, stateMachineArn: str) -> dict[str, Any]:
        self._enter("describe_state_machine")
        if stateMachineArn not in self.machines:
            raise client_error("StateMachineDoesNotExist", "DescribeStateMachine")
        return dict(self.machines[stateMachineArn])

    def list_state_machine_versions(self, stateMachineArn: str, **kwargs: Any) -> dict[str, Any]:
        self._enter("list_state_machine_versions")
        return self._page("stateMachineVersions", self.versions[stateMachineArn], kwargs)

    def list_state_machine_aliases(self, stateMachineArn: str, **kwargs: Any) -> dict[str, Any]:
        self._enter("list_state_machine_aliases")
        items = [{"stateMachineAliasArn": a["stateMachineAliasArn"]} for a in self.aliases[stateMachineArn]]
        return self._page("stateMachineAliases", items, kwargs)

    def describe_state_machine_alias(self, stateMachineAliasArn: str) -> dict[str, Any]:
        self._enter("describe_state_machine_alias")
        for aliases in self.aliases.values():
            for alias in aliases:
                if alias["stateMachineAliasArn"] == stateMachineAliasArn:
                    return dict(alias)
        raise client_error("ResourceNotFound", "DescribeStateMachineAlias")

    def list_executions(self, statusFilter: str, **kwargs: Any) -> dict[str, Any]:
        self._enter("list_executions")
        where = kwargs.get("mapRunArn")
        machine = kwargs.get("stateMachineArn")
        items = [
            {k: v for k, v in e.items() if not k.startswith("_") and k not in ("redriveStatus",)}
            for e in self.executions
            if e["status"] == statusFilter
            and (
                e.get("_mapRun") == where
                if where
                else e["stateMachineArn"] == machine and not e.get("_mapRun")
            )
        ]
        items.sort(key=lambda e: e["startDate"], reverse=True)
        return self._page("executions", items, kwargs)

    def _execution(self, arn: str) -> dict[str, Any]:
        for item in self.executions:
            if item["executionArn"] == arn:
                return item
        raise client_error("ExecutionDoesNotExist", "DescribeExecution")

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        self._enter("describe_execution")
        item = self._execution(executionArn)
        return {k: v for k, v in item.items() if not k.startswith("_")}

    def describe_state_machine_for_execution(self, executionArn: str) -> dict[str, Any]:
        self._enter("describe_state_machine_for_execution")
        item = self._execution(executionArn)
        definition, revision, updated = item["_runs"]
        return {
            "stateMachineArn": item["stateMachineArn"],
            "name": item["stateMachineArn"].rsplit(":", 1)[-1],
            "definition": definition,
            "roleArn": item.get("_role", self.machines[item["stateMachineArn"]]["roleArn"]),
            "updateDate": updated,
            "revisionId": revision,
        }

    def list_map_runs(self, executionArn: str, **kwargs: Any) -> dict[str, Any]:
        self._enter("list_map_runs")
        runs = [
            {"executionArn": executionArn, "mapRunArn": run} for run in self.map_runs.get(executionArn, [])
        ]
        return self._page("mapRuns", runs, kwargs)

    def delete_state_machine_version(self, stateMachineVersionArn: str) -> dict[str, Any]:
        self._enter("delete_state_machine_version")
        self.deleted.append(stateMachineVersionArn)
        return {}


class LambdaWithFakes:
    """moto's Lambda client, with function URLs and provisioned concurrency (not implemented in moto
    5.2.5) answered from data."""

    def __init__(self, real: Any, urls: dict[str, list[str]], provisioned: dict[str, dict[str, int]]) -> None:
        self._real = real
        self.urls = urls
        self.provisioned = provisioned

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def can_paginate(self, name: str) -> bool:
        if name in ("list_function_url_configs", "list_provisioned_concurrency_configs"):
            return False
        return bool(self._real.can_paginate(name))

    def _arn(self, name: str, qualifier: str) -> str:
        base = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        return base if qualifier == "$LATEST" else f"{base}:{qualifier}"

    def list_function_url_configs(self, FunctionName: str, **kwargs: Any) -> dict[str, Any]:
        configs = [{"FunctionArn": self._arn(FunctionName, q)} for q in self.urls.get(FunctionName, [])]
        return {"FunctionUrlConfigs": configs}

    def list_provisioned_concurrency_configs(self, FunctionName: str, **kwargs: Any) -> dict[str, Any]:
        items = [
            {"FunctionArn": self._arn(FunctionName, q), "RequestedProvisionedConcurrentExecutions": n}
            for q, n in self.provisioned.get(FunctionName, {}).items()
        ]
        return {"ProvisionedConcurrencyConfigs": items}


class Session:
    """What ``live`` expects of a boto3 session: ``region_name`` and ``client(service, config=)``.

    Services in ``fakes`` get the fake; the others a moto-backed boto3 client (inside ``mock_aws``)."""

    def __init__(self, fakes: dict[str, Any], urls: Any = None, provisioned: Any = None) -> None:
        self.region_name = REGION
        self.fakes = fakes
        self.urls = urls or {}
        self.provisioned = provisioned or {}
        self.configs: list[Any] = []

    def client(self, service: str, config: Any = None) -> Any:
        self.configs.append(config)
        if service in self.fakes:
            return self.fakes[service]
        real = boto3.client(service, region_name=REGION, config=config)
        if service == "lambda":
            return LambdaWithFakes(real, self.urls, self.provisioned)
        return real
