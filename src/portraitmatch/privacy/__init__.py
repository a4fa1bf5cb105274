"""Privacy recipes: seal, unseal, shred, rewrap; keyed hashes of ID numbers; plaintext detection.

The recipes ask the caller for no cryptographic decisions. Each subject's data is sealed
(AES-256-GCM) under a per-subject, per-purpose data key; data keys exist at rest only wrapped by a
master key from a :class:`KeyProvider` (key file, environment variable, or an external KMS/HSM).
Destroying a data key (``SubjectKeys.shred``) makes the subject's data unrecoverable; rotating the
master key (``SubjectKeys.rotate_master``) re-wraps data keys without touching the data. Clocks are
passed in (``now``); random keys and nonces always come from the operating system.

``_aead.py`` holds the primitive and is imported by these recipes only.
"""

from portraitmatch.privacy.data_keys import SERVICE_SUBJECT, DataKey, KeyRef, Purpose, WrappedKey
from portraitmatch.privacy.evidence import (
    FRAME,
    ID_PORTRAIT,
    SealedEvidence,
    after_cancellation_expiry,
    evidence_expiry,
    seal_evidence,
    select_artefacts,
)
from portraitmatch.privacy.id_numbers import index_id_number, normalise_id_number
from portraitmatch.privacy.master_keys import (
    KeyProvider,
    LocalMasterKeys,
    MasterKeyUnavailable,
    master_key_id,
    rewrap,
    unwrap,
    wrap,
)
from portraitmatch.privacy.sealing import SealBroken, Sealed, is_sealed_token, seal, unseal
from portraitmatch.privacy.subject_keys import (
    KeyShredded,
    KeyStore,
    MemoryKeyStore,
    RotationResult,
    ShredReason,
    ShredReceipt,
    SubjectKeys,
)

__all__ = [
    "FRAME",
    "ID_PORTRAIT",
    "SERVICE_SUBJECT",
    "DataKey",
    "KeyProvider",
    "KeyRef",
    "KeyShredded",
    "KeyStore",
    "LocalMasterKeys",
    "MasterKeyUnavailable",
    "MemoryKeyStore",
    "Purpose",
    "RotationResult",
    "SealBroken",
    "Sealed",
    "SealedEvidence",
    "ShredReason",
    "ShredReceipt",
    "SubjectKeys",
    "WrappedKey",
    "after_cancellation_expiry",
    "evidence_expiry",
    "index_id_number",
    "is_sealed_token",
    "master_key_id",
    "normalise_id_number",
    "rewrap",
    "seal",
    "seal_evidence",
    "select_artefacts",
    "unseal",
    "unwrap",
    "wrap",
]
