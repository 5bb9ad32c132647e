// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IAivmConsumer
/// @notice What AivmOracle calls when a request's result is delivered. It runs with exactly the
///         callbackGasLimit given with the request; if it reverts or runs out of gas the result
///         stays stored on the oracle and anyone can run it again with `retryCallback`.
interface IAivmConsumer {
    /// @param requestId the oracle's request id (returned by requestInference).
    /// @param modelId the model (bytes32 SHA-256 of the artifact).
    /// @param output the output bytes: int32 little-endian per element (read them with AivmOutput).
    /// @param callbackData the bytes the requester gave with the request, unchanged.
    function aivmCallback(uint256 requestId, bytes32 modelId, bytes calldata output, bytes calldata callbackData)
        external;
}
