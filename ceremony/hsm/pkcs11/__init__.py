"""The PKCS#11 backend on python-pkcs11: every pkcs11 failure becomes a CeremonyError here."""

from ceremony.hsm.pkcs11.backend import Pkcs11Backend
from ceremony.hsm.pkcs11.session import Pkcs11Session

__all__ = ["Pkcs11Backend", "Pkcs11Session"]
