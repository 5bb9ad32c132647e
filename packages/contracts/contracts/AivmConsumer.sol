// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAivmConsumer} from "./IAivmConsumer.sol";

/// @title AivmConsumer
/// @notice Base for contracts that receive AIVM results: only the oracle given at construction may
///         call back. Implement `_onAivmResult`.
abstract contract AivmConsumer is IAivmConsumer {
    /// @notice The caller of aivmCallback is not the oracle.
    error OnlyOracle(address caller);

    /// @notice The AivmOracle this consumer trusts to call back.
    address public immutable oracle;

    constructor(address oracle_) {
        oracle = oracle_;
    }

    /// @inheritdoc IAivmConsumer
    function aivmCallback(uint256 requestId, bytes32 modelId, bytes calldata output, bytes calldata callbackData)
        external
        override
    {
        if (msg.sender != oracle) revert OnlyOracle(msg.sender);
        _onAivmResult(requestId, modelId, output, callbackData);
    }

    /// @notice Called with a delivered result; only ever reached through the oracle.
    function _onAivmResult(uint256 requestId, bytes32 modelId, bytes calldata output, bytes calldata callbackData)
        internal
        virtual;

    /// @notice Accepts refunds of timed-out requests and the oracle's refund of any excess payment.
    receive() external payable virtual {}
}
