"""Linear GraphQL simulator: viewer, teams, labels, issueCreate, issue lookups."""

from simulators.linear.app import LinearGraphQLError, create_app, execute, run_linear
from simulators.linear.graphql import GraphQLSyntaxError, parse
from simulators.linear.state import (
    SANDBOX_API_KEY,
    Faults,
    Issue,
    LinearState,
    RateLimit,
    stable_id,
)

__all__ = [
    "SANDBOX_API_KEY",
    "Faults",
    "GraphQLSyntaxError",
    "Issue",
    "LinearGraphQLError",
    "LinearState",
    "RateLimit",
    "create_app",
    "execute",
    "parse",
    "run_linear",
    "stable_id",
]
