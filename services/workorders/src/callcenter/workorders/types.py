"""Ticket types as JSON (the API's and the table's form)."""

from __future__ import annotations

from typing import Any

from callcenter.workorders.domain.config import DEFAULT_WORKFLOW, SlaPolicy, TicketType, Workflow


def type_to_json(kind: TicketType) -> dict[str, Any]:
    return {"name": kind.name, "workflow": kind.workflow.to_json(), "sla": kind.sla.to_json()}


def type_from_json(name: str, data: dict[str, Any]) -> TicketType:
    workflow = data.get("workflow")
    return TicketType(
        name=name,
        workflow=Workflow.from_json(workflow) if workflow else DEFAULT_WORKFLOW,
        sla=SlaPolicy.from_json(data.get("sla") or {}),
    )
