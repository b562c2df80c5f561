"""Data contracts that cross the workflow/activity boundary: inputs, results, events,
messages and ids. Imported by workflows, activities, the API and the CLI; imports none of them.
"""
