// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AivmConsumer} from "../AivmConsumer.sol";
import {AivmOracle} from "../AivmOracle.sol";
import {AivmOutput} from "../AivmOutput.sol";

/// @title DigitGame
/// @notice An on-chain handwritten-digit game: a player draws the digit the game asks for (the
///         target of the current block, `targetDigit()`), submits the drawing (the model's int8
///         input, e.g. 28×28 = 784 bytes) and pays the oracle's quote. When AIVM classifies the
///         drawing as the target (argmax of the 10 scores), the player wins `prize` from the
///         game's pot, credited to `winnings` and withdrawn with `withdraw()` (the callback never
///         sends ETH, so it cannot fail because of a player's wallet).
contract DigitGame is AivmConsumer {
    using AivmOutput for bytes;

    /// @notice A play waiting for its result.
    struct Play {
        address player;
        uint8 target;
    }

    error NotOwner(address caller);
    error WrongPayment(uint256 expected, uint256 paid);
    error PotTooSmall(uint256 pot, uint256 prize);
    error UnknownPlay(uint256 requestId);
    error NothingToWithdraw(address player);
    error TransferFailed(address to, uint256 amount);

    event Played(uint256 indexed requestId, address indexed player, uint8 target);
    event Result(uint256 indexed requestId, address indexed player, uint8 target, uint256 classified, bool won);
    event Withdrawn(address indexed player, uint256 amount);

    /// @notice Gas the oracle gives the callback (argmax of 10 + a few storage writes).
    uint32 public constant CALLBACK_GAS = 80_000;

    address public immutable owner;
    bytes32 public immutable modelId;
    uint8 public immutable tier;
    uint256 public immutable prize;

    /// @notice What the game owes: prizes of pending plays plus unwithdrawn winnings (not pot).
    uint256 public owed;
    mapping(uint256 => Play) public plays;
    mapping(address => uint256) public winnings;

    constructor(address oracle_, bytes32 modelId_, uint8 tier_, uint256 prize_) AivmConsumer(oracle_) {
        owner = msg.sender;
        modelId = modelId_;
        tier = tier_;
        prize = prize_;
    }

    /// @notice The digit to draw in this block (0-9).
    function targetDigit() public view returns (uint8) {
        return uint8(uint256(blockhash(block.number - 1)) % 10);
    }

    /// @notice What play() costs in this block: the oracle's quote.
    function price() public view returns (uint256) {
        return AivmOracle(oracle).quote(modelId, tier, CALLBACK_GAS);
    }

    /// @notice Submits a drawing of `targetDigit()`; send exactly `price()`.
    function play(bytes calldata drawing) external payable returns (uint256 requestId) {
        uint256 cost = price();
        if (msg.value != cost) revert WrongPayment(cost, msg.value);
        uint256 pot = address(this).balance - msg.value - owed;
        if (pot < prize) revert PotTooSmall(pot, prize);
        owed += prize;
        uint8 target = targetDigit();
        requestId = AivmOracle(oracle).requestInference{value: cost}(modelId, drawing, tier, CALLBACK_GAS, "");
        plays[requestId] = Play(msg.sender, target);
        emit Played(requestId, msg.sender, target);
    }

    /// @notice Sends the caller's winnings.
    function withdraw() external {
        uint256 amount = winnings[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        winnings[msg.sender] = 0;
        owed -= amount;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = payable(msg.sender).call{value: amount}("");
        if (!ok) revert TransferFailed(msg.sender, amount);
    }

    /// @notice Frees the prize reserved for a play whose request was refunded by the oracle
    ///         (timed out); the refunded fee goes back to the player's winnings.
    function releaseRefunded(uint256 requestId) external {
        Play memory p = plays[requestId];
        if (p.player == address(0)) revert UnknownPlay(requestId);
        AivmOracle.Request memory r = AivmOracle(oracle).getRequest(requestId);
        if (r.status != AivmOracle.Status.Refunded) revert UnknownPlay(requestId);
        delete plays[requestId];
        owed = owed - prize + r.fee;
        winnings[p.player] += r.fee;
    }

    /// @notice Owner takes back pot money not reserved for pending plays.
    function withdrawPot(uint256 amount) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        uint256 pot = address(this).balance - owed;
        if (amount > pot) revert PotTooSmall(pot, amount);
        (bool ok,) = payable(owner).call{value: amount}("");
        if (!ok) revert TransferFailed(owner, amount);
    }

    function _onAivmResult(uint256 requestId, bytes32, bytes calldata output, bytes calldata) internal override {
        Play memory p = plays[requestId];
        if (p.player == address(0)) revert UnknownPlay(requestId);
        delete plays[requestId];
        (uint256 classified,) = output.argmax();
        bool won = classified == p.target;
        if (won) winnings[p.player] += prize;
        else owed -= prize;
        emit Result(requestId, p.player, p.target, classified, won);
    }
}
