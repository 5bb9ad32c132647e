// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title AivmOutput
/// @notice Reads an AIVM inference output: the bytes AIVM stores for a finalized request, one
///         int32 per element, little-endian, row-major (docs/evm.md, "Identifiers and encodings").
library AivmOutput {
    /// @notice The output's byte length is not a multiple of 4.
    error MalformedOutput(uint256 byteLength);
    /// @notice Element `index` does not exist in an output of `length` elements.
    error OutputIndexOutOfRange(uint256 index, uint256 length);
    /// @notice argmax of an output with no elements.
    error EmptyOutput();

    /// @notice Number of int32 elements in `output`.
    function length(bytes memory output) internal pure returns (uint256) {
        if (output.length % 4 != 0) revert MalformedOutput(output.length);
        return output.length / 4;
    }

    /// @notice Element `i` of `output` (int32, little-endian).
    function element(bytes memory output, uint256 i) internal pure returns (int32) {
        uint256 n = length(output);
        if (i >= n) revert OutputIndexOutOfRange(i, n);
        return _at(output, i);
    }

    /// @notice Index and value of the largest element; the first one on ties.
    function argmax(bytes memory output) internal pure returns (uint256 index, int32 value) {
        uint256 n = length(output);
        if (n == 0) revert EmptyOutput();
        value = _at(output, 0);
        for (uint256 i = 1; i < n; ++i) {
            int32 v = _at(output, i);
            if (v > value) {
                value = v;
                index = i;
            }
        }
    }

    /// @dev Element i without bounds checks (the caller checked them).
    function _at(bytes memory output, uint256 i) private pure returns (int32) {
        uint256 word;
        assembly {
            // The 4 bytes of element i are the top 4 bytes of the word loaded at their offset.
            word := shr(224, mload(add(add(output, 32), mul(i, 4))))
        }
        // word = b0 b1 b2 b3 (b0 least significant in the LE encoding): swap to b3 b2 b1 b0.
        uint32 le = uint32(((word & 0xff) << 24) | ((word & 0xff00) << 8) | ((word >> 8) & 0xff00) | (word >> 24));
        return int32(le);
    }
}
