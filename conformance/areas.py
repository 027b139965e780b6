"""The requirement areas, in the order a supplier reads them. Suite tests name theirs with
``@pytest.mark.area``; the summary counts per area; each deliberate fault names the areas that must
catch it."""

AREAS = (
    "auth",
    "negotiation",
    "media type",
    "routing",
    "headers",
    "messages",
    "batches",
    "get message",
    "NHS App accounts",
    "properties",
)
