from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.connections.dependencies import ProbeContextDep, SecretBoxDep, ValidConnection
from app.discovery.service import DiscoveryCache, DiscoveryTarget, target_of
from app.integrations.aws.discovery import DiscoveryEngine


async def discovery_target(
    connection: ValidConnection, box: SecretBoxDep, context: ProbeContextDep
) -> DiscoveryTarget:
    # Discovery can talk to AWS for seconds; no transaction is open by now (the connection
    # was read in a function that ended its own), so none is held while it does.
    return target_of(connection, box, context)


async def engine(request: Request) -> DiscoveryEngine:
    found: DiscoveryEngine = request.app.state.discovery
    return found


async def cache(request: Request) -> DiscoveryCache:
    found: DiscoveryCache = request.app.state.discovery_cache
    return found


DiscoveryTargetDep = Annotated[DiscoveryTarget, Depends(discovery_target)]
DiscoveryEngineDep = Annotated[DiscoveryEngine, Depends(engine)]
DiscoveryCacheDep = Annotated[DiscoveryCache, Depends(cache)]
