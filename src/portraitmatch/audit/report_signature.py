"""Signing inspection reports so that an inspector can check them offline.

Two signatures, both Ed25519 by the audit signing key:

- **embedded**: over the report's canonical data (``InspectionReport.to_json()``, canonical JSON).
  Every format carries it with the SHA-256 of that data; the HTML and CSV also carry the data itself.
- **detached**: ``FILE.sig``, the raw 64-byte signature over the exact bytes of the rendered file. It
  verifies with OpenSSL alone::

      openssl pkeyutl -verify -pubin -inkey KEY.pub.pem -rawin -in report.pdf -sigfile report.pdf.sig

The public key comes to the inspector out of band (it is printed with its key id in every report, but a
key found inside a document proves nothing by itself).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from portraitmatch.audit.event import canonical_json
from portraitmatch.audit.inspection import InspectionReport
from portraitmatch.audit.signing import (
    Signer,
    TrustedKeys,
    b64,
    public_key_from_pem,
    public_pem,
    signing_key_id,
    unb64,
)


@dataclass(frozen=True, slots=True)
class ReportSignature:
    key_id: str
    data_sha256: str
    signature: bytes
    public_key: bytes

    def to_json(self) -> dict[str, str]:
        return {
            "algorithm": "Ed25519",
            "key_id": self.key_id,
            "data_sha256": self.data_sha256,
            "signature": b64(self.signature),
            "public_key_pem": public_pem(self.public_key).decode(),
        }

    @classmethod
    def from_json(cls, data: dict[str, str]) -> ReportSignature:
        public = public_key_from_pem(data["public_key_pem"].encode())
        return cls(
            key_id=data["key_id"],
            data_sha256=data["data_sha256"],
            signature=unb64(data["signature"]),
            public_key=public,
        )


def report_data(report: InspectionReport) -> bytes:
    """The exact bytes the embedded signature covers."""
    return canonical_json(report.to_json())


def sign_report(signer: Signer, report: InspectionReport) -> ReportSignature:
    data = report_data(report)
    return ReportSignature(
        key_id=signer.key_id,
        data_sha256=hashlib.sha256(data).hexdigest(),
        signature=signer.sign(data),
        public_key=signer.public_key,
    )


def verify_report_data(trusted: TrustedKeys, data: bytes, signature: ReportSignature) -> bool:
    """True when ``data`` is what a trusted key signed (the key inside the report is not trusted)."""
    return (
        signature.key_id == signing_key_id(signature.public_key)
        and hashlib.sha256(data).hexdigest() == signature.data_sha256
        and trusted.is_valid(signature.key_id, data, signature.signature)
    )


def sign_file(signer: Signer, content: bytes) -> bytes:
    """The detached signature (raw 64 bytes) over a rendered file."""
    return signer.sign(content)


def verify_file(trusted: TrustedKeys, content: bytes, signature: bytes) -> str | None:
    """The id of the trusted key that signed ``content``, or None."""
    for key_id in trusted.key_ids:
        if trusted.is_valid(key_id, content, signature):
            return key_id
    return None
