from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.connections.dependencies import ProbeContextDep, SecretBoxDep, ValidConnection
from app.core.db import SessionDep
from app.discovery.service import DiscoveryCache, DiscoveryTarget, target_of
from app.integrations.aws.discovery import DiscoveryEngine


def discovery_target(
    connection: ValidConnection, session: SessionDep, box: SecretBoxDep, context: ProbeContextDep
) -> DiscoveryTarget:
    target = target_of(connection, box, context)
    # Discovery can talk to AWS for seconds: end the read transaction first, so that no
    # database connection or lock is held while it does.
    session.commit()
    return target


def engine(request: Request) -> DiscoveryEngine:
    found: DiscoveryEngine = request.app.state.discovery
    return found


def cache(request: Request) -> DiscoveryCache:
    found: DiscoveryCache = request.app.state.discovery_cache
    return found


DiscoveryTargetDep = Annotated[DiscoveryTarget, Depends(discovery_target)]
DiscoveryEngineDep = Annotated[DiscoveryEngine, Depends(engine)]
DiscoveryCacheDep = Annotated[DiscoveryCache, Depends(cache)]
