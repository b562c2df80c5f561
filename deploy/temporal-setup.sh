#!/bin/sh
# Waits for the Temporal frontend, then makes sure the namespace and rensei's search
# attributes exist, with the `temporal` CLI of temporalio/admin-tools. Idempotent; any
# failure exits non-zero, so the API and the workers (which depend on this service
# completing successfully) never start against a cluster without their search attributes.
set -eu
: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS (host:port of the frontend) is required}"
: "${SEARCH_ATTRIBUTES:?SEARCH_ATTRIBUTES (space-separated Keyword attribute names) is required}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
ATTEMPTS="${HEALTH_ATTEMPTS:-60}"

attempt=1
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  if [ "$attempt" -ge "$ATTEMPTS" ]; then
    echo "Temporal at $TEMPORAL_ADDRESS is not healthy after $ATTEMPTS attempts" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep 2
done
echo "Temporal at $TEMPORAL_ADDRESS is healthy"

if ! temporal operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" >/dev/null 2>&1; then
  temporal operator namespace create --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE"
  echo "namespace $NAMESPACE created"
fi

existing=$(temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE")
for name in $SEARCH_ATTRIBUTES; do
  if printf '%s\n' "$existing" | grep -qw -- "$name"; then
    echo "search attribute $name exists"
  else
    temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" \
      --name "$name" --type Keyword
    echo "search attribute $name created"
  fi
done
echo "Temporal namespace $NAMESPACE ready"
