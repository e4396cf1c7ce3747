"""The API's shipments outbox (:mod:`logistream.api.outbox`): the same ``ShipmentPublisher``
as ``logistream shipments``, sending on the ``shipments`` topic."""

from __future__ import annotations

from logistream.api.outbox import ApiOutbox
from logistream.config import Endpoints, Settings
from logistream.registry import Registry


class ShipmentOutbox(ApiOutbox):
    def __init__(
        self, settings: Settings, endpoints: Endpoints, registry: Registry, timeout_s: float
    ) -> None:
        from logistream.shipments.publish import ShipmentPublisher

        publisher = ShipmentPublisher(settings, registry, endpoints, timeout_s=timeout_s)
        super().__init__(publisher, "shipment", "logistream shipments")
