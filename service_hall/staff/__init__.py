"""Staff presence (SPEC 3.8): the whereabouts board (去向牌), the duty roster of village points
(轮流坐班) and the printable service card (便民服务卡)."""
