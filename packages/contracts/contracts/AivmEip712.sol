// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title AivmEip712
/// @notice The EIP-712 messages AIVM validators sign (docs/evm.md, "Attestation path"). The domain
///         is `{ name: 'AIVM', version: '1', chainId }` with the AIVM chain id and no
///         verifyingContract: the domain AIVM transactions use.
library AivmEip712 {
    bytes32 internal constant DOMAIN_TYPEHASH = keccak256("EIP712Domain(string name,string version,uint256 chainId)");
    bytes32 internal constant RESULT_TYPEHASH =
        keccak256("AivmResult(uint64 requestId,bytes32 modelId,uint8 tier,bytes32 inputHash,bytes32 outputHash)");
    bytes32 internal constant VALIDATOR_SET_TYPEHASH = keccak256("AivmValidatorSet(uint64 setId,bytes32 membersHash)");

    /// @notice hashStruct of the EIP712Domain for AIVM chain `aivmChainId`.
    function domainSeparator(uint256 aivmChainId) internal pure returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("AIVM"), keccak256("1"), aivmChainId));
    }

    /// @notice keccak256("\x19\x01" ‖ domainSeparator ‖ structHash).
    function typedDataHash(bytes32 separator, bytes32 structHash) internal pure returns (bytes32 digest) {
        assembly {
            let p := mload(0x40)
            mstore(p, hex"1901")
            mstore(add(p, 2), separator)
            mstore(add(p, 34), structHash)
            digest := keccak256(p, 66)
        }
    }

    /// @notice Digest of `AivmResult(requestId, modelId, tier, inputHash, outputHash)`.
    function resultDigest(
        bytes32 separator,
        uint64 requestId,
        bytes32 modelId,
        uint8 tier,
        bytes32 inputHash,
        bytes32 outputHash
    ) internal pure returns (bytes32) {
        return typedDataHash(
            separator, keccak256(abi.encode(RESULT_TYPEHASH, requestId, modelId, tier, inputHash, outputHash))
        );
    }

    /// @notice Digest of `AivmValidatorSet(setId, membersHash)`.
    function validatorSetDigest(bytes32 separator, uint64 setId, bytes32 members) internal pure returns (bytes32) {
        return typedDataHash(separator, keccak256(abi.encode(VALIDATOR_SET_TYPEHASH, setId, members)));
    }

    /// @notice membersHash = keccak256(abi.encode(address[] signers, uint64[] powers)).
    function membersHash(address[] memory signers, uint64[] memory powers) internal pure returns (bytes32) {
        return keccak256(abi.encode(signers, powers));
    }
}
