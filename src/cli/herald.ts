console.log("herald")
