from tests.connections.aws_fixtures import (  # noqa: F401 - fixtures
    aws,
    platform_user,
    retry_sleeps,
    stub_service,
    throttling_apigateway,
)
