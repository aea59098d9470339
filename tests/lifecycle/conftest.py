from tests.applications.conftest import shop_prod  # noqa: F401 - fixture
from tests.connections.aws_fixtures import (  # noqa: F401 - fixtures
    aws,
    platform_user,
    stub_service,
)
from tests.discovery.conftest import central, org  # noqa: F401 - fixtures
from tests.schedules.conftest import run_services  # noqa: F401 - fixture
