"""Model-free baselines, compared with world-model MPC in the same harness.

| module | what |
| --- | --- |
| ``gcbc.py`` | goal-conditioned behaviour cloning (offline, hindsight goals) |
| ``gciql.py`` | goal-conditioned implicit Q-learning (offline, hindsight goals) |
| ``offline.py`` | the training loop both offline algorithms share (resume, eval, log) |
| ``relabel.py`` | an HDF5 dataset in memory and hindsight goal sampling |
| ``nets.py`` | observation+goal encoders (state MLP, or the world model's CNN family) |
| ``sb3.py`` | SAC / PPO (Stable-Baselines3) training, HER on goal tasks |
| ``obs.py`` | env observation dict -> a policy's input (flat state, stacked pixels) |
| ``goals.py`` | goal distance and success from observed states (HER rewards) |
| ``checkpoint.py`` | policies as safetensors + JSON; pickles refused |
| ``agent.py`` | a trained baseline as a harness agent: ``reset(obs, goal)`` / ``act(obs)`` |
"""

# Algorithm names, shared by the CLI, the suite factory and the loader.
ONLINE_ALGOS = ("sac", "ppo")  # Stable-Baselines3, env steps
OFFLINE_ALGOS = ("gcbc", "gciql")  # on a dataset, gradient steps
