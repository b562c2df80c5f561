"""The custom search attributes rensei sets on its workflows (all Keyword), and a run's.

The keys are ``temporalio.common`` values, the one Temporal module the contracts import:
the workflows set them, the dev server registers them, the CLI's visibility queries read them.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair

from contracts.runs import InterpretInput

INCIDENT_ID = SearchAttributeKey.for_keyword("IncidentId")
INCIDENT_REFERENCE = SearchAttributeKey.for_keyword("IncidentReference")
INCIDENT_SEVERITY = SearchAttributeKey.for_keyword("IncidentSeverity")
DEFINITION_NAME = SearchAttributeKey.for_keyword("DefinitionName")
WORKSPACE = SearchAttributeKey.for_keyword("Workspace")
TRIGGER_TYPE = SearchAttributeKey.for_keyword("TriggerType")

ALL_KEYS = (
    INCIDENT_ID,
    INCIDENT_REFERENCE,
    INCIDENT_SEVERITY,
    DEFINITION_NAME,
    WORKSPACE,
    TRIGGER_TYPE,
)


def search_attribute_pairs(params: InterpretInput) -> list[SearchAttributePair[str]]:
    """What a run is found by in the Temporal UI; starters set them so no upsert is needed."""
    pairs: list[SearchAttributePair[str]] = [
        SearchAttributePair(DEFINITION_NAME, params.plan.name),
        SearchAttributePair(TRIGGER_TYPE, params.plan.trigger_type),
        SearchAttributePair(WORKSPACE, params.workspace),
    ]
    if params.incident_id:
        pairs.append(SearchAttributePair(INCIDENT_ID, params.incident_id))
    reference = params.trigger.get("incident_io", {}).get("reference")
    if isinstance(reference, str) and reference:
        pairs.append(SearchAttributePair(INCIDENT_REFERENCE, reference))
    severity = params.trigger.get("incident_io", {}).get("severity")
    if isinstance(severity, str):
        pairs.append(SearchAttributePair(INCIDENT_SEVERITY, severity))
    return pairs
