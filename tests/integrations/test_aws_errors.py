"""The one mapping from AWS failures to codes and hints, on the shapes AWS and moto produce."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from app.integrations.aws.errors import CallContext, classify, scrub


def client_error(code: str, message: str, status: int) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "Operation",
    )


MOTO_APIGATEWAY_DENIAL = (
    '<?xml version="1.0" encoding="utf-8"?>\n<ErrorResponse><Errors><Error><Code>AccessDenied'
    "</Code><Message>User: arn:aws:iam::123456789012:user/x is not authorized to perform: "
    "apigateway:GET</Message><Type>Sender</Type></Error></Errors></ErrorResponse>"
)


def test_moto_style_403_with_an_xml_body_is_access_denied() -> None:
    failure = classify(
        client_error("403", MOTO_APIGATEWAY_DENIAL, 403), CallContext(action="apigateway:GET")
    )
    assert failure.code == "access_denied"
    assert "apigateway:GET" in failure.hint
    assert "<?xml" not in failure.message
    assert "is not authorized to perform" in failure.message


@pytest.mark.parametrize(
    ("error", "context", "code", "hint_words"),
    [
        (
            client_error("InvalidClientTokenId", "The security token is invalid.", 403),
            CallContext(action="sts:GetCallerIdentity"),
            "invalid_credentials",
            "new access key",
        ),
        (
            client_error("InvalidClientTokenId", "The security token is invalid.", 403),
            CallContext(action="sts:GetCallerIdentity", uses_platform_credentials=True),
            "platform_credentials_invalid",
            "operator",
        ),
        (
            client_error("AccessDenied", "not authorized to perform: sts:AssumeRole", 403),
            CallContext(
                action="sts:AssumeRole",
                role_arn="arn:aws:iam::999988887777:role/R",
                external_id_sent=True,
                principal_arn="arn:aws:iam::111111111111:user/platform",
            ),
            "role_not_assumable",
            "arn:aws:iam::111111111111:user/platform",
        ),
        (
            client_error("UnrecognizedClientException", "The security token is invalid", 400),
            CallContext(action="apigateway:GET", region="ap-east-1"),
            "region_not_enabled",
            "Enable ap-east-1",
        ),
        (
            client_error(
                "AccessDeniedException",
                "User x is not authorized to perform: organizations:ListAccounts",
                400,
            ),
            CallContext(action="organizations:ListAccounts"),
            "access_denied",
            "organizations:ListAccounts",
        ),
        (
            client_error("Throttling", "Rate exceeded", 400),
            CallContext(action="organizations:ListAccounts"),
            "throttled",
            "try again",
        ),
        (
            EndpointConnectionError(endpoint_url="https://sts.amazonaws.com"),
            CallContext(action="sts:GetCallerIdentity"),
            "aws_unreachable",
            "network",
        ),
        (
            # Connected, and no answer on any attempt: a silent endpoint, not a refusal.
            ReadTimeoutError(endpoint_url="https://apigateway.eu-west-1.amazonaws.com"),
            CallContext(action="apigateway:GET", region="eu-west-1"),
            "aws_timeout",
            "network egress",
        ),
        (
            NoCredentialsError(),
            CallContext(action="sts:AssumeRole", uses_platform_credentials=True),
            "platform_credentials_missing",
            "credentials",
        ),
    ],
)
def test_each_failure_has_its_code_and_hint(
    error: Exception, context: CallContext, code: str, hint_words: str
) -> None:
    failure = classify(error, context)
    assert failure.code == code
    assert hint_words.lower() in failure.hint.lower()


def test_access_key_ids_and_secrets_in_aws_messages_are_masked() -> None:
    text = scrub(
        "The AWS Access Key Id AKIAIOSFODNN7EXAMPLE does not match "
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )
    assert "AKIAIOSFODNN7EXAMPLE" not in text
    assert "AKIA************MPLE" in text
    assert "wJalrXUtnFEMI" not in text
