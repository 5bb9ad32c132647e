// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AivmConsumer} from "../AivmConsumer.sol";
import {AivmOracle} from "../AivmOracle.sol";
import {AivmOutput} from "../AivmOutput.sol";

/// @title TestConsumer
/// @notice For the tests: requests inferences and records callbacks; `mode` makes the callback
///         succeed, revert, or burn all its gas, so the oracle's failure handling can be exercised;
///         `Noop` returns at once (the gas bench's callback base cost).
contract TestConsumer is AivmConsumer {
    using AivmOutput for bytes;

    enum Mode {
        Ok,
        Revert,
        BurnGas,
        Noop
    }

    error Refused(uint256 requestId);

    Mode public mode;
    uint256 public calls;
    uint256 public lastRequestId;
    bytes public lastOutput;
    bytes public lastCallbackData;
    uint256 public lastArgmax;

    constructor(address oracle_) AivmConsumer(oracle_) {}

    function setMode(Mode m) external {
        mode = m;
    }

    function request(bytes32 modelId, bytes calldata input, uint8 tier, uint32 gasLimit, bytes calldata data)
        external
        payable
        returns (uint256)
    {
        return AivmOracle(oracle).requestInference{value: msg.value}(modelId, input, tier, gasLimit, data);
    }

    function requestCommitted(
        bytes32 modelId,
        uint256 commitment,
        bytes32 inputHash,
        string calldata uri,
        uint8 tier,
        uint32 gasLimit,
        bytes calldata data
    ) external payable returns (uint256) {
        return AivmOracle(oracle).requestInferenceCommitted{value: msg.value}(
            modelId, commitment, inputHash, uri, tier, gasLimit, data
        );
    }

    function _onAivmResult(uint256 requestId, bytes32, bytes calldata output, bytes calldata callbackData)
        internal
        override
    {
        Mode m = mode;
        if (m == Mode.Noop) return;
        if (m == Mode.Revert) revert Refused(requestId);
        if (m == Mode.BurnGas) {
            uint256 x;
            while (true) {
                x = uint256(keccak256(abi.encode(x)));
            }
        }
        ++calls;
        lastRequestId = requestId;
        lastOutput = output;
        lastCallbackData = callbackData;
        (lastArgmax,) = output.argmax();
    }
}

/// @title OutputReader
/// @notice Exposes AivmOutput for the tests.
contract OutputReader {
    function element(bytes calldata output, uint256 i) external pure returns (int32) {
        return AivmOutput.element(output, i);
    }

    function length(bytes calldata output) external pure returns (uint256) {
        return AivmOutput.length(output);
    }

    function argmax(bytes calldata output) external pure returns (uint256 index, int32 value) {
        return AivmOutput.argmax(output);
    }
}
