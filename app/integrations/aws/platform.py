"""The platform's own AWS identity: the standard boto3 credential chain."""

from __future__ import annotations

import boto3


def platform_principal_arn() -> str:
    """The ARN customers trust in their roles: who the service's own credentials are."""
    arn: str = boto3.client("sts").get_caller_identity()["Arn"]
    return arn
