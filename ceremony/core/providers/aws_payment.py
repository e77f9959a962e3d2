"""AWS Payment Cryptography ImportKey (KeyCryptogram): RSA-OAEP of a TDES or AES payment key."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import ClassVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ceremony.core.component import KeyAlgorithm
from ceremony.core.kcv import CheckValue, KcvMethod, parse_check_value
from ceremony.core.key_roles import KeyRole
from ceremony.core.pem import pem_blocks
from ceremony.core.providers.common import (
    MaterialInfo,
    Target,
    iso,
    material_line,
    online_intro,
    parse_time,
    require_aware,
    shell_block,
    shell_command,
    unsupported,
)
from ceremony.core.providers.import_key import (
    Fingerprint,
    ImportKey,
    as_bytes,
    decode_base64,
    json_string,
    load_json_object,
    parsing,
)
from ceremony.core.providers.methods import MaterialKind, Provider, WrapMethod
from ceremony.errors import ImportKeyError, WrapError

PROVIDER = Provider.AWS_PAYMENT_CRYPTOGRAPHY
KEY_MATERIAL = "key-material.json"
# ImportKeyCryptogram.ImportToken and WrappedKeyCryptogram, as the service model states them.
_TOKEN = re.compile(r"import-token-[0-9a-zA-Z]{16,64}")
MAX_CRYPTOGRAM_HEX = 4096
# GetParametersForImport.WrappingKeyAlgorithm for KEY_CRYPTOGRAM.
WRAPPING_ALGORITHMS = MappingProxyType({"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096})
# A certificate path longer than this is not what the service hands out.
_MAX_PATH = 5
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")
_SECONDS = re.compile(r"\d{1,12}(?:\.\d{1,9})?")

# KeyAttributes.KeyAlgorithm of each key this import takes.
KEY_ALGORITHMS = MappingProxyType(
    {
        MaterialKind.TDES_128: "TDES_2KEY",
        MaterialKind.TDES_192: "TDES_3KEY",
        MaterialKind.AES_128: "AES_128",
        MaterialKind.AES_192: "AES_192",
        MaterialKind.AES_256: "AES_256",
    }
)
# ImportKey --key-check-value-algorithm, and the KCV method of this tool that computes the same
# value: TDES-ECB over 8 zero bytes, AES-CMAC over 16 zero bytes, both 3 leftmost bytes.
KCV_ALGORITHMS = MappingProxyType(
    {
        KeyAlgorithm.TDES: ("ANSI_X9_24", KcvMethod.TDES_ECB_ZERO),
        KeyAlgorithm.AES: ("CMAC", KcvMethod.AES_CMAC),
    }
)
AWS_KCV_BYTES = 3
# KeyModesOfUse, every member in the service model's order; the role sets some true.
MODES_OF_USE = (
    "Encrypt",
    "Decrypt",
    "Wrap",
    "Unwrap",
    "Generate",
    "Sign",
    "Verify",
    "DeriveKey",
    "NoRestrictions",
)
# Security strength in bits (NIST SP 800-57 part 1, table 2); RSA-4096 counts as the 128 of
# RSA-3072, as the next step (192) needs RSA-7680.
_RSA_STRENGTH = MappingProxyType({2048: 112, 3072: 128, 4096: 128})
_KEY_STRENGTH = MappingProxyType(
    {
        MaterialKind.TDES_128: 80,
        MaterialKind.TDES_192: 112,
        MaterialKind.AES_128: 128,
        MaterialKind.AES_192: 192,
        MaterialKind.AES_256: 256,
    }
)

_KMS_HINT = (
    "run aws payment-cryptography get-parameters-for-import --key-material-type "
    "KEY_CRYPTOGRAM --wrapping-key-algorithm RSA_2048|RSA_3072|RSA_4096 and give its JSON output"
)


def key_algorithm(kind: MaterialKind) -> KeyAlgorithm:
    """TDES or AES: the algorithm of a key this import takes (its role names its usage)."""
    return KeyAlgorithm.TDES if kind.name.startswith("TDES") else KeyAlgorithm.AES


def _seconds(value: object) -> object:
    # The CLI's own example prints the timestamp as a string of POSIX seconds.
    if isinstance(value, str) and _SECONDS.fullmatch(value.strip()):
        return float(value.strip())
    return value


def _certificates(text: str, field: str) -> list[x509.Certificate]:
    """A field holding "PEM format (base64 encoded)": base64 of PEM text (also taken: PEM text
    itself, or base64 of one DER certificate)."""
    what = f"the {field}"
    raw = text.encode("utf-8") if "-----BEGIN" in text else decode_base64(text, what)
    if b"-----BEGIN" not in raw:
        try:
            return [x509.load_der_x509_certificate(raw)]
        except ValueError:
            raise ImportKeyError(
                f"{what} is neither PEM nor a DER certificate",
                hint="give the get-parameters-for-import JSON unchanged",
            ) from None
    blocks = pem_blocks(raw)
    if not blocks or raw.count(b"-----BEGIN") != len(blocks):
        raise ImportKeyError(
            f"{what} holds a truncated PEM block",
            hint="download the parameters again and give the JSON unchanged",
        )
    found: list[x509.Certificate] = []
    for label, body in blocks:
        if label != "CERTIFICATE":
            raise ImportKeyError(
                f"{what} holds a PEM {label[:30]!r}, not a certificate",
                hint="give the get-parameters-for-import JSON unchanged",
            )
        try:
            found.append(x509.load_der_x509_certificate(decode_base64(body, what)))
        except ValueError:
            raise ImportKeyError(
                f"{what} holds a certificate that does not decode",
                hint="download the parameters again and give the JSON unchanged",
            ) from None
    return found


def _name(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()[:120] or "(no subject)"


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _require_ca(cert: x509.Certificate) -> None:
    """An issuer that says it is no CA, or may not sign certificates, is refused."""
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if (constraints is not None and not constraints.ca) or (
        usage is not None and not usage.key_cert_sign
    ):
        raise ImportKeyError(
            f"the certificate {_name(cert)!r} signs the wrapping key's chain but is not a "
            "certificate authority (basic constraints or key usage)",
            hint="stop: this is not the chain AWS Payment Cryptography hands out; download "
            "the parameters again",
        )


def verify_path(leaf: x509.Certificate, chain: list[x509.Certificate]) -> list[x509.Certificate]:
    """The path from the wrapping certificate to a self-signed root in ``chain``, each signature
    checked; raise unless it exists and uses every certificate of the chain."""
    path, pool = [leaf], list(chain)
    while True:
        current = path[-1]
        if len(path) > 1 and current.issuer == current.subject and _issued_by(current, current):
            break
        issuer = next((c for c in pool if _issued_by(current, c)), None)
        if issuer is not None and issuer == leaf:
            raise ImportKeyError(
                "the wrapping key certificate is self-signed: nothing certifies it",
                hint="stop: AWS Payment Cryptography certifies its wrapping keys with its own "
                "CA; download the parameters again",
            )
        if issuer is None:
            raise ImportKeyError(
                f"the certificate {_name(current)!r} does not chain to the root: no certificate "
                "of WrappingKeyCertificateChain signed it",
                hint="stop: the wrapping key is not certified by the chain it came with; "
                "download the parameters again",
            )
        if len(path) >= _MAX_PATH:
            raise ImportKeyError(
                f"the wrapping key's certificate path is longer than {_MAX_PATH}",
                hint="give the get-parameters-for-import JSON unchanged",
            )
        _require_ca(issuer)
        pool.remove(issuer)
        path.append(issuer)
    if pool:
        raise ImportKeyError(
            f"WrappingKeyCertificateChain holds {len(pool)} certificate(s) not on the wrapping "
            f"key's path to its root (first: {_name(pool[0])!r})",
            hint="give the get-parameters-for-import JSON unchanged",
        )
    return path


def parse_import_parameters(data: bytes | bytearray | str) -> ImportKey:
    """Read ``aws payment-cryptography get-parameters-for-import --key-material-type
    KEY_CRYPTOGRAM`` output: the wrapping certificate is verified against its chain up to a
    self-signed root, and its RSA key must be the size the output declares.

    Whether the root is the pinned one, and whether every certificate and the import token are
    still valid, depend on the target and the time: ``AwsPaymentTarget.check`` says.
    """
    what = "the AWS Payment Cryptography get-parameters-for-import output"
    raw = as_bytes(data, what)
    with parsing(what):
        doc = load_json_object(raw, what)
        if doc is None:
            raise ImportKeyError(f"{what} is not JSON", hint=_KMS_HINT)
        if "PublicKey" in doc or "KeyId" in doc:
            raise ImportKeyError(
                f"{what} looks like AWS KMS parameters (PublicKey, KeyId), not Payment "
                "Cryptography's",
                hint=_KMS_HINT,
            )
        algorithm = json_string(doc, "WrappingKeyAlgorithm", what)
        bits = WRAPPING_ALGORITHMS.get(algorithm)
        if bits is None:
            raise ImportKeyError(
                f"{what}: WrappingKeyAlgorithm is {algorithm[:30]!r}; an RSA key cryptogram is "
                "wrapped under RSA_2048, RSA_3072 or RSA_4096",
                hint=_KMS_HINT,
            )
        token = json_string(doc, "ImportToken", what)
        if not _TOKEN.fullmatch(token):
            raise ImportKeyError(
                f"{what}: ImportToken is not an import token (import-token- and 16 to 64 "
                "letters or digits)",
                hint="give the get-parameters-for-import JSON unchanged",
            )
        if "ParametersValidUntilTimestamp" not in doc:
            raise ImportKeyError(
                f"{what} has no ParametersValidUntilTimestamp",
                hint="give the get-parameters-for-import JSON unchanged",
            )
        valid_to = parse_time(
            _seconds(doc["ParametersValidUntilTimestamp"]), "ParametersValidUntilTimestamp"
        )
        leaves = _certificates(
            json_string(doc, "WrappingKeyCertificate", what), "WrappingKeyCertificate"
        )
        if len(leaves) != 1:
            raise ImportKeyError(
                f"{what}: WrappingKeyCertificate holds {len(leaves)} certificates, not one",
                hint="give the get-parameters-for-import JSON unchanged",
            )
        chain = _certificates(
            json_string(doc, "WrappingKeyCertificateChain", what), "WrappingKeyCertificateChain"
        )
        path = verify_path(leaves[0], chain)
        public_key = leaves[0].public_key()
        if not isinstance(public_key, rsa.RSAPublicKey) or public_key.key_size != bits:
            size = f"RSA-{public_key.key_size}" if isinstance(public_key, rsa.RSAPublicKey) else ""
            raise ImportKeyError(
                f"the wrapping key certificate holds {size or 'a non-RSA'} key, and the "
                f"parameters declare {algorithm}",
                hint="stop: download the parameters again; the certificate and the declared "
                "algorithm must agree",
            )
        spki = public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        certificates = tuple(c.public_bytes(serialization.Encoding.DER) for c in path)
    return ImportKey(
        PROVIDER,
        public_key,
        spki,
        valid_to=valid_to,
        reference=token,
        import_token=token.encode("ascii"),
        certificates=certificates,
    )


def require_valid_path(key: ImportKey, now: datetime) -> None:
    """Every certificate of the path valid at ``now``; raise naming the first that is not."""
    now = require_aware(now)
    for n, der in enumerate(key.certificates):
        cert = x509.load_der_x509_certificate(der)
        what = "the wrapping key certificate" if n == 0 else f"the CA certificate {_name(cert)!r}"
        if now < cert.not_valid_before_utc:
            raise ImportKeyError(
                f"{what} is not valid before {iso(cert.not_valid_before_utc)} (now {iso(now)})",
                hint="check the workstation clock against the independent clock; if it is "
                "right, wait, or download the parameters again",
            )
        if now >= cert.not_valid_after_utc:
            raise ImportKeyError(
                f"{what} expired at {iso(cert.not_valid_after_utc)} (now {iso(now)})",
                hint="download fresh parameters (get-parameters-for-import) and start again",
            )


@dataclass(frozen=True)
class AwsPaymentTarget(Target):
    """A key created by ImportKey from a KeyCryptogram: the key RSA-OAEP-wrapped under the
    service's certified wrapping key, with the attributes its role gives."""

    label: str
    method: WrapMethod
    import_key: ImportKey  # reference: the import token
    role: KeyRole = KeyRole.DATA
    exportable: bool = False
    root_ca_fingerprint: bytes | None = None  # pinned SHA-256 of the root CA certificate (DER)
    region: str = ""
    production: bool = False  # then the root CA must be pinned

    provider: ClassVar[Provider] = PROVIDER
    warn_within: ClassVar[timedelta] = timedelta(hours=24)
    lifetime: ClassVar[str | None] = "an import token lasts 30 days (7 in older documentation)"
    max_wrapped: ClassVar[int | None] = MAX_CRYPTOGRAM_HEX // 2

    def check(self, info: MaterialInfo, now: datetime) -> list[str]:
        key = self.import_key
        if key.provider is PROVIDER:
            self.require_root()
            require_valid_path(key, now)
        if self.region and not _REGION.fullmatch(self.region):
            raise WrapError(f"{self.region[:40]!r} is not an AWS Region", hint="e.g. eu-west-1")
        warnings = super().check(info, now)
        strength = _KEY_STRENGTH.get(info.kind, 0)
        rsa_strength = _RSA_STRENGTH.get(key.key_bits, 0)
        if strength > rsa_strength:
            warnings.append(
                f"target {self.label!r}: an RSA-{key.key_bits} wrapping key "
                f"({rsa_strength}-bit strength) is weaker than the {info.kind.value} key it "
                f"carries ({strength}-bit); PCI PIN wants a transport key at least as strong, "
                "and AWS may refuse the import"
                + (
                    ": request RSA_3072 or RSA_4096 parameters"
                    if strength <= _RSA_STRENGTH[4096]
                    else ""
                )
            )
        return warnings

    def require_root(self) -> None:
        """The chain's root is the one the ceremony file pins; in production one must be."""
        root = self.import_key.root_fingerprint
        if root is None:
            raise ImportKeyError(
                f"target {self.label!r}: the wrapping key came without its certificate chain",
                hint="give the get-parameters-for-import JSON unchanged",
            )
        if self.root_ca_fingerprint is None:
            if self.production:
                raise ImportKeyError(
                    f"target {self.label!r}: no root CA fingerprint is pinned, so nothing says "
                    "the wrapping key belongs to AWS Payment Cryptography",
                    hint="pin the SHA-256 of the root CA certificate (root_ca_fingerprint)",
                )
            return
        if not hmac.compare_digest(self.root_ca_fingerprint, root.digest):
            raise ImportKeyError(
                f"target {self.label!r}: the wrapping key chains to the root CA "
                f"{root.groups()}, and the ceremony file pins "
                f"{Fingerprint(self.root_ca_fingerprint).groups()}",
                hint="stop: this wrapping key is not certified by the pinned root; download "
                "the parameters again, and never change the pin to fit them",
            )

    def check_material(self, info: MaterialInfo) -> None:
        if info.kind not in KEY_ALGORITHMS:
            raise unsupported(
                PROVIDER,
                info.kind,
                "AWS Payment Cryptography takes TDES double or triple length (TDES-128/192) "
                "and AES-128/192/256 keys as an RSA key cryptogram; never single DES, HMAC, EC "
                "or RSA keys",
            )
        if not self.role.allows(key_algorithm(info.kind)):
            raise WrapError(
                f"a {self.role.facts.name} is not a {info.kind.value} key",
                hint="change the key's role or type",
            )

    def wrap_file_name(self) -> str:
        return KEY_MATERIAL

    def key_attributes(self, kind: MaterialKind) -> dict[str, object]:
        """KeyAttributes from the key's role and kind: what the imported key may do, for ever."""
        modes = self.role.facts.aws_modes
        return {
            "KeyUsage": self.role.aws_usage(key_algorithm(kind)),
            "KeyClass": "SYMMETRIC_KEY",
            "KeyAlgorithm": KEY_ALGORITHMS[kind],
            "KeyModesOfUse": {mode: mode in modes for mode in MODES_OF_USE},
        }

    def key_material(self, wrapped: bytes, kind: MaterialKind) -> dict[str, object]:
        """The ``import-key --key-material`` value: an ImportKeyMaterial with a KeyCryptogram."""
        cryptogram = wrapped.hex().upper()
        if not 16 <= len(cryptogram) <= MAX_CRYPTOGRAM_HEX:
            raise WrapError(
                f"the key cryptogram is {len(cryptogram)} hex digits; AWS takes 16 to "
                f"{MAX_CRYPTOGRAM_HEX}",
                hint="use an RSA_2048, RSA_3072 or RSA_4096 wrapping key",
            )
        return {
            "KeyCryptogram": {
                "KeyAttributes": self.key_attributes(kind),
                "Exportable": self.exportable,
                "WrappedKeyCryptogram": cryptogram,
                "ImportToken": self.import_key.reference,
                "WrappingSpec": self.method.value,
            }
        }

    def expected_kcv(self, info: MaterialInfo) -> tuple[str, CheckValue]:
        """(``--key-check-value-algorithm``, the 3-byte KCV AWS must report for this key)."""
        algorithm, method = KCV_ALGORITHMS[key_algorithm(info.kind)]
        if info.kcv is None:
            raise WrapError(
                f"target {self.label!r}: the key's check value is not known, and AWS's "
                "KeyCheckValue must be compared with it",
                hint="this is a bug: the ceremony computes the KCV before it wraps",
            )
        recorded = parse_check_value(info.kcv)
        if recorded.method is not method:
            raise WrapError(
                f"target {self.label!r}: the key's check value is {recorded.method.label}; AWS "
                f"computes {algorithm} ({method.label}) for a {info.kind.value} key",
                hint=f"give the key's {method.label} check value",
            )
        return algorithm, recorded.truncated(min(AWS_KCV_BYTES, len(recorded.value)))

    def manifest_fields(self, info: MaterialInfo) -> dict[str, object]:
        key = self.import_key
        algorithm, kcv = self.expected_kcv(info)
        root = key.root_fingerprint
        return {
            "import_token": key.reference,
            "wrapping_spec": self.method.value,
            "key_attributes": self.key_attributes(info.kind),
            "exportable": self.exportable,
            "key_check_value_algorithm": algorithm,
            "key_check_value": kcv.hex,
            "root_ca_sha256": root.hex if root else None,
            "root_ca_pinned": self.root_ca_fingerprint is not None,
            "certificates": [
                {
                    "subject": _name(cert),
                    "sha256": hashlib.sha256(der).hexdigest(),
                    "not_after": iso(cert.not_valid_after_utc),
                }
                for der in key.certificates
                for cert in [x509.load_der_x509_certificate(der)]
            ],
        }

    def _region(self) -> list[str]:
        return [f"--region {shlex.quote(self.region)}"] if self.region else []

    def commands(self, kind: MaterialKind) -> list[tuple[str, list[str]]]:
        """Every AWS CLI command IMPORT.md gives, in order: (what it is for, its arguments)."""
        algorithm, _ = KCV_ALGORITHMS[key_algorithm(kind)]
        return [
            (
                "parameters",
                [
                    "aws payment-cryptography get-parameters-for-import",
                    *self._region(),
                    "--key-material-type KEY_CRYPTOGRAM",
                    f"--wrapping-key-algorithm RSA_{self.import_key.key_bits}",
                ],
            ),
            (
                "import",
                [
                    "aws payment-cryptography import-key",
                    *self._region(),
                    f"--key-material file://{KEY_MATERIAL}",
                    f"--key-check-value-algorithm {algorithm}",
                ],
            ),
            (
                "check",
                [
                    "aws payment-cryptography get-key",
                    *self._region(),
                    "--key-identifier KEY-ARN",
                    "--query "
                    + shlex.quote(
                        "Key.{KeyCheckValue:KeyCheckValue,"
                        "KeyCheckValueAlgorithm:KeyCheckValueAlgorithm,KeyState:KeyState,"
                        "KeyOrigin:KeyOrigin,Exportable:Exportable,KeyAttributes:KeyAttributes}"
                    ),
                ],
            ),
        ]

    def import_files(
        self, wrapped: bytes, info: MaterialInfo, key_label: str, now: datetime, wrapped_by: str
    ) -> list[tuple[str, bytes]]:
        material = json.dumps(self.key_material(wrapped, info.kind), indent=2) + "\n"
        return [
            (KEY_MATERIAL, material.encode("ascii")),
            ("IMPORT.md", self._import_md(info, key_label, now).encode("utf-8")),
        ]

    def _fingerprints(self) -> str:
        key = self.import_key
        root = key.root_fingerprint
        assert root is not None
        pinned = (
            "pinned in the ceremony file, and it matched"
            if self.root_ca_fingerprint is not None
            else "NOT pinned (rehearsal)"
        )
        subject = _name(x509.load_der_x509_certificate(key.certificates[-1]))
        command = (
            "jq -r .WrappingKeyCertificateChain <parameters>.json | base64 -d | "
            "openssl x509 -outform DER | sha256sum"
        )
        where = (
            "(the chain is the root alone, the first certificate `openssl x509` reads)"
            if len(key.certificates) == 2
            else f"(the chain holds {len(key.certificates) - 1} certificates: hash the one "
            f"whose subject is `{subject}`)"
        )
        lines = [
            f"Root CA certificate fingerprint (SHA-256 of its DER), {pinned}:",
            "",
            f"    {root.groups()}",
            "",
            f"Root CA: `{subject}`. The same value from the downloaded parameters, on the",
            f"online computer {where}:",
            f"`{command}`",
            "",
            "Read aloud (PGP word list):",
            "",
            *("    " + line for line in root.word_lines()),
            "",
            "Wrapping key fingerprint (SHA-256 of its SubjectPublicKeyInfo):",
            "",
            f"    {key.fingerprint.groups()}",
        ]
        return "\n".join(lines)

    def _import_md(self, info: MaterialInfo, key_label: str, now: datetime) -> str:
        key = self.import_key
        algorithm, kcv = self.expected_kcv(info)
        attributes = self.key_attributes(info.kind)
        modes = ", ".join(m for m in MODES_OF_USE if m in self.role.facts.aws_modes)
        steps = dict(self.commands(info.kind))
        valid_to = iso(key.valid_to) if key.valid_to else "unknown"
        before = [
            (
                "The wrapping key certificate and import token, downloaded for the ceremony (one "
                "import token imports several keys while it lasts):",
                steps["parameters"],
            )
        ]
        return "\n".join(
            [
                f"# Import `{key_label}` into AWS Payment Cryptography ({self.label})",
                "",
                f"- Key: {material_line(info)}",
                f"- Role: {self.role.describe(key_algorithm(info.kind))}",
                f"- KeyAttributes: `KeyUsage` `{attributes['KeyUsage']}`, `KeyClass` "
                f"`SYMMETRIC_KEY`, `KeyAlgorithm` `{attributes['KeyAlgorithm']}`, "
                f"`KeyModesOfUse` {modes} (the others false)",
                f"- Exportable: {'true' if self.exportable else 'false'}",
                f"- Wrapping: `{self.method.value}` (RSA-OAEP, MGF1 "
                f"{self.method.oaep_hash.value}, empty label) of the raw key under the RSA_"
                f"{key.key_bits} wrapping key",
                f"- Import token: `{key.reference}`, valid until {valid_to} "
                "(ParametersValidUntilTimestamp)",
                f"- Expected key check value: `{kcv.hex}` ({algorithm}; the record's "
                f"{kcv.method.label} {kcv.hex})",
                *online_intro(key, now, before, self._fingerprints()),
                "2. Import with AWS CLI v2, in the Region the parameters were downloaded in.",
                f"   `file://` reads the JSON text of `{KEY_MATERIAL}`; it holds the",
                "   key cryptogram, the import token and the key's attributes:",
                "",
                shell_block(shell_command(steps["import"])),
                "",
                f"   The answer shows `KeyCheckValue`: it must be `{kcv.hex}`, with",
                f"   `KeyCheckValueAlgorithm` `{algorithm}`. Note its `KeyArn`.",
                "",
                "3. Check afterwards, with the `KeyArn` from step 2: `KeyCheckValue`",
                f"   `{kcv.hex}` (the value the ceremony record holds for `{key_label}`),",
                f"   `KeyCheckValueAlgorithm` `{algorithm}`, `KeyState` `CREATE_COMPLETE`,",
                f"   `KeyOrigin` `EXTERNAL`, `Exportable` {str(self.exportable).lower()}, and the",
                "   `KeyAttributes` above:",
                "",
                shell_block(shell_command(steps["check"])),
                "",
                "   A different check value means AWS holds another key: do not use it; delete",
                "   it (`aws payment-cryptography delete-key`) and report it to the security",
                "   officer.",
                "",
            ]
        )
