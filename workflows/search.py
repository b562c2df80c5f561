"""The custom search attributes rensei sets on its workflows (all Keyword)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

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
