from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.connections.dependencies import ValidConnection
from app.core.db import SessionDep, ends_transaction
from app.models import AutoOnboardSchedule
from app.schedules import service


@ends_transaction
def valid_schedule(connection: ValidConnection, session: SessionDep) -> AutoOnboardSchedule:
    """The connection's schedule, or 404 when auto-onboard is not enabled on it."""
    return service.get(session=session, connection=connection)


ValidSchedule = Annotated[AutoOnboardSchedule, Depends(valid_schedule)]
