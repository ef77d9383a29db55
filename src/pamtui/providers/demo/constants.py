"""Names shared by the demo's generator, state file, event model and provider."""

FORMAT = 1
DEFAULT_SEED = 7
SYSTEMS = ("idp", "git", "cloud")
MIN_ACCOUNTS = 40
"""The smallest org the generator builds (the provider's ``accounts`` setting checks it)."""

ORG_NAME = "Acme Robotics"
DOMAIN = "acme-robotics.example"
GITHUB_ORG = "acme-robotics"
AWS_ACCOUNT_ID = "210987654321"
TIMEZONE = "America/New_York"

DEPARTED_TOKEN = "departed-employee-token"
"""Incident id: a departed employee's token used at 03:00 from a never-seen IP."""
BUCKET_ENUMERATION = "bucket-enumeration"
"""Incident id: a service's access key suddenly listing every bucket."""
