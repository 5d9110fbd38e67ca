"""Payments: Swiss QR-bills and bank notifications (francs), e-Léman payment requests (local currency),
mixed and on-delivery payments. Part of the core: knows no chat platform."""
