// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AivmEip712} from "./AivmEip712.sol";

/// @title AivmLightClient
/// @notice Tracks the AIVM attestation set (docs/evm.md, "Attestation path") and tells whether a
///         digest is signed by members holding more than 2/3 of the current set's voting power.
///         The set moves from id n to n + 1 only with more than 2/3 of set n's power signing
///         `AivmValidatorSet(n + 1, membersHash)`; after that, only set n + 1's signatures count.
/// @dev Signatures are packed 65-byte (r, s, v) entries, v ∈ {27, 28}, low-s, ordered by
///      recovered signer address strictly ascending: one comparison per signature rules out
///      duplicates. A signature by a non-member, an invalid one, or one out of order reverts: a
///      relayer must send member signatures only.
contract AivmLightClient {
    /// @notice Most members a set may have (bounds the gas of an update).
    uint256 public constant MAX_MEMBERS = 256;
    /// @dev secp256k1n / 2: signatures with a larger s are malleable copies and are refused.
    uint256 private constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// @notice signers and powers differ in length, or the set is empty or too large.
    error BadSetShape(uint256 signers, uint256 powers);
    /// @notice A member has zero power.
    error ZeroPower(uint256 index);
    /// @notice Two members share a (non-zero) attestation key.
    error DuplicateMember(address signer);
    /// @notice The new set's id is not the current id + 1.
    error WrongSetId(uint64 expected, uint64 given);
    /// @notice The signatures blob is not a whole number of 65-byte entries or has more entries than members.
    error BadSignaturesLength(uint256 length);
    /// @notice Signature `index` does not recover (bad v, high s, or no valid key).
    error InvalidSignature(uint256 index);
    /// @notice Signature `index` recovers to an address that is not in the current set.
    error NotAMember(uint256 index, address signer);
    /// @notice Signature `index` is not strictly after the previous one in signer order.
    error SignersNotAscending(uint256 index, address signer);
    /// @notice The signatures hold `signed` of `total` power: not more than 2/3.
    error InsufficientPower(uint256 signed, uint256 total);

    /// @notice A new attestation set is current.
    event ValidatorSetUpdated(uint64 indexed setId, bytes32 membersHash, uint256 totalPower, uint256 members);

    /// @notice The AIVM chain id of the EIP-712 domain.
    uint256 public immutable aivmChainId;
    /// @notice hashStruct(EIP712Domain{name:'AIVM', version:'1', chainId: aivmChainId}).
    bytes32 public immutable DOMAIN_SEPARATOR;

    /// @notice Id of the current set.
    uint64 public setId;
    /// @notice Sum of the current set's powers (zero-key members included).
    uint256 public totalPower;
    /// @notice membersHash of the current set.
    bytes32 public membersHash;
    /// @dev setId => attestation key => power. Only `setId`'s entries are ever read.
    mapping(uint64 => mapping(address => uint64)) private _power;

    /// @param aivmChainId_ the AIVM chain id (EIP-712 domain).
    /// @param setId_ the id of the initial set (trusted at deployment, like any light client's root).
    /// @param signers attestation keys in validator-set order; `address(0)` for a validator without one.
    /// @param powers voting powers, same order.
    constructor(uint256 aivmChainId_, uint64 setId_, address[] memory signers, uint64[] memory powers) {
        aivmChainId = aivmChainId_;
        DOMAIN_SEPARATOR = AivmEip712.domainSeparator(aivmChainId_);
        _install(setId_, signers, powers);
    }

    /// @notice Power of `signer` in the current set (0 when not a member).
    function powerOf(address signer) external view returns (uint64) {
        return signer == address(0) ? 0 : _power[setId][signer];
    }

    /// @notice EIP-712 digest of `AivmResult` under this client's domain.
    function resultDigest(uint64 requestId, bytes32 modelId, uint8 tier, bytes32 inputHash, bytes32 outputHash)
        external
        view
        returns (bytes32)
    {
        return AivmEip712.resultDigest(DOMAIN_SEPARATOR, requestId, modelId, tier, inputHash, outputHash);
    }

    /// @notice EIP-712 digest of `AivmValidatorSet(setId, membersHash)` under this client's domain.
    function validatorSetDigest(uint64 setId_, bytes32 membersHash_) external view returns (bytes32) {
        return AivmEip712.validatorSetDigest(DOMAIN_SEPARATOR, setId_, membersHash_);
    }

    /// @notice membersHash = keccak256(abi.encode(signers, powers)).
    function hashMembers(address[] calldata signers, uint64[] calldata powers) external pure returns (bytes32) {
        return AivmEip712.membersHash(signers, powers);
    }

    /// @notice Power of the current set that signed `digest`; reverts on any bad signature.
    /// @return signed the signers' total power.
    /// @return total the current set's total power.
    function signedPower(bytes32 digest, bytes calldata signatures) public view returns (uint256 signed, uint256 total) {
        total = totalPower;
        uint256 n = signatures.length / 65;
        if (signatures.length % 65 != 0 || n > MAX_MEMBERS) revert BadSignaturesLength(signatures.length);
        mapping(address => uint64) storage power = _power[setId];
        address last;
        for (uint256 i; i < n; ++i) {
            bytes32 r;
            bytes32 s;
            uint8 v;
            assembly {
                let p := add(signatures.offset, mul(i, 65))
                r := calldataload(p)
                s := calldataload(add(p, 32))
                v := byte(0, calldataload(add(p, 64)))
            }
            if (uint256(s) > HALF_N || (v != 27 && v != 28)) revert InvalidSignature(i);
            address signer = ecrecover(digest, v, r, s);
            if (signer == address(0)) revert InvalidSignature(i);
            if (signer <= last) revert SignersNotAscending(i, signer);
            last = signer;
            uint64 p_ = power[signer];
            if (p_ == 0) revert NotAMember(i, signer);
            signed += p_;
        }
    }

    /// @notice True when members holding more than 2/3 of the current set's power signed `digest`;
    ///         false with 2/3 or less. Reverts on a malformed, non-member or out-of-order signature.
    function verifyAttestation(bytes32 digest, bytes calldata signatures) external view returns (bool) {
        (uint256 signed, uint256 total) = signedPower(digest, signatures);
        return signed * 3 > total * 2;
    }

    /// @notice Like verifyAttestation but reverts with InsufficientPower instead of returning false.
    function requireAttestation(bytes32 digest, bytes calldata signatures) public view {
        (uint256 signed, uint256 total) = signedPower(digest, signatures);
        if (signed * 3 <= total * 2) revert InsufficientPower(signed, total);
    }

    /// @notice Moves to set `newSetId` = setId + 1, signed by more than 2/3 of the current set's
    ///         power over `AivmValidatorSet(newSetId, keccak256(abi.encode(signers, powers)))`.
    function updateValidatorSet(
        uint64 newSetId,
        address[] calldata signers,
        uint64[] calldata powers,
        bytes calldata signatures
    ) external {
        if (newSetId != setId + 1) revert WrongSetId(setId + 1, newSetId);
        if (signers.length != powers.length || signers.length == 0 || signers.length > MAX_MEMBERS) {
            revert BadSetShape(signers.length, powers.length);
        }
        bytes32 h = AivmEip712.membersHash(signers, powers);
        requireAttestation(AivmEip712.validatorSetDigest(DOMAIN_SEPARATOR, newSetId, h), signatures);
        _install(newSetId, signers, powers);
    }

    function _install(uint64 id, address[] memory signers, uint64[] memory powers) private {
        if (signers.length != powers.length || signers.length == 0 || signers.length > MAX_MEMBERS) {
            revert BadSetShape(signers.length, powers.length);
        }
        mapping(address => uint64) storage power = _power[id];
        uint256 total;
        for (uint256 i; i < signers.length; ++i) {
            if (powers[i] == 0) revert ZeroPower(i);
            total += powers[i];
            address s = signers[i];
            if (s == address(0)) continue; // counts in the total, can sign nothing
            if (power[s] != 0) revert DuplicateMember(s);
            power[s] = powers[i];
        }
        setId = id;
        totalPower = total;
        membersHash = AivmEip712.membersHash(signers, powers);
        emit ValidatorSetUpdated(id, membersHash, total, signers.length);
    }
}
